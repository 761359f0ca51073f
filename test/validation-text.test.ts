/**
 * The UI's refusals in words (frontend/validation-text.ts, used by frontend/api.ts for every 4xx
 * it shows): the field's label, what is wrong, what is allowed; an unknown message kept verbatim.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApiError, fieldOf } from '../frontend/api.ts'
import { detailText, detailsText, fieldLabel } from '../frontend/validation-text.ts'

test('TypeBox kinds become sentences naming the field and the limit', () => {
  assert.is(detailText('title', 'Expected string length less or equal to 300'), 'Title is too long: at most 300 characters')
  assert.is(detailText('column_id', 'Expected string length greater or equal to 1'), 'Column is required')
  assert.is(detailText('name', 'Expected string length greater or equal to 3'), 'Name is too short: at least 3 characters')
  assert.is(detailText('key', "Expected string to match '^[A-Z]+$'"), 'Project key must be 2 to 6 capital letters A–Z, like SHOP')
  assert.is(detailText('position', 'Expected integer'), 'Position must be a whole number')
  assert.is(detailText('position', 'Expected integer to be less or equal to 100000'), 'Position must be at most 100000')
  assert.is(detailText('associated_node_ids', 'Expected array length to be less or equal to 500'), 'Linked components may hold at most 500 items')
  assert.is(detailText('colour', 'Unexpected property'), 'Colour is not accepted here')
})

test('settings are named by their label, URLs with the shape they take', () => {
  assert.is(detailText('values.WORKER_LLM_URL', 'must be a URL'), 'Worker LLM URL must be a URL like https://host/v1')
  assert.is(detailText('values.GITHUB_API_URL', 'must be an http(s) URL'), 'GitHub API URL must be an http(s) URL like https://api.github.com')
  assert.is(fieldLabel('values.SOMETHING_NEW'), 'SOMETHING_NEW', 'an unknown setting keeps its variable name')
  // What a run lacks (422, details at /settings/KEY): the setting by its label.
  assert.is(detailText('settings.WORKER_MODEL', 'WORKER_MODEL is not set: Model the worker CLI uses'), 'Worker model is not set: Model the worker CLI uses')
  assert.is(detailText('settings.GITHUB_TOKEN', 'not set'), 'GitHub token is not set')
})

test('the API’s own phrasings: repository URL and path rules in words; anything else kept after the label', () => {
  assert.is(detailText('repo_url', 'not a repository URL'), 'Repository URL must be an https, http or ssh URL, or git@host:path')
  assert.is(detailText('project_path', 'not absolute'), 'Project path must be an absolute path, starting with /')
  assert.is(detailText('columns', 'needs exactly one column with role "done" (has 2)'), 'Columns: needs exactly one column with role "done" (has 2)')
})

test('ApiError: fields and the banner line are in words; the API message stays precise', () => {
  const error = new ApiError(400, 'bad_request', 'invalid body: /body/title Expected string length less or equal to 300', [
    { path: '/body/title', message: 'Expected string length less or equal to 300' },
    { path: '/body/title', message: 'Expected string' },
    { path: '/body/description', message: 'Expected string length less or equal to 50000' },
  ])
  assert.equal(error.fields(), { title: 'Title is too long: at most 300 characters', description: 'Description is too long: at most 50000 characters' })
  assert.is(error.describe(), 'Title is too long: at most 300 characters. Description is too long: at most 50000 characters')
  assert.match(error.message, '/body/title')
  assert.equal(detailsText(error.details, fieldOf).length, 2, 'one sentence per field')
  assert.is(new ApiError(409, 'conflict', 'the graph changed since version 3').describe(), 'The graph changed since version 3')
})

test.run()
