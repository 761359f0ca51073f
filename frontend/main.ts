/** The UI's entry: defines every element (through the shell's imports) and mounts the toasts. */
import './app-shell.ts'
import './toast-host.ts'
