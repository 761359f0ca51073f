/** The UI's entry: defines every element (through the shell's imports) and mounts the toasts. */
// Bundled to /app.css next to /app.js (the CSP allows no inline style).
import './app.css'
import './app-shell.ts'
import './toast-host.ts'
