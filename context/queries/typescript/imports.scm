; TypeScript's imports are JavaScript's (`queries/javascript/imports.scm`).
