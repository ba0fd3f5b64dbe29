// The `infill.*` settings, as the server reads them (`initializationOptions` and
// `workspace/didChangeConfiguration` under an `infill` key).
import * as vscode from 'vscode';

/** Keys passed to the server; editor-only keys (serverPath) stay here. */
const SERVER_KEYS = [
  'model', 'enable', 'maxTokens', 'threads', 'promptFormat', 'contextTokens',
  'timeBudgetMs', 'timeLimitMs', 'completionDelay', 'speculate', 'logLevel',
  'confidence', 'routing', 'backend',
] as const;

/**
 * The server settings. At start (`initializationOptions`) empty values are left out so
 * the server's defaults apply; in a change they are sent as `null`, which the server
 * reads as "back to the default" (a cleared `infill.model` unloads the model).
 */
export function serverSettings(forChange = false): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration('infill');
  const settings: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const value = config.get(key);
    if (value === null || value === undefined || value === '') {
      if (forChange) settings[key] = null;
      continue;
    }
    settings[key] = value;
  }
  return settings;
}

/** The `infill-ls` command: `infill.serverPath` with `~` and `${workspaceFolder}` expanded. */
export function serverPath(): string {
  let path = vscode.workspace.getConfiguration('infill').get<string>('serverPath') || 'infill-ls';
  const home = process.env.HOME || process.env.USERPROFILE;
  if (home && (path === '~' || path.startsWith('~/'))) path = home + path.slice(1);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder) path = path.replace('${workspaceFolder}', folder);
  return path;
}

/** Whether completions are on. */
export function enabled(): boolean {
  return vscode.workspace.getConfiguration('infill').get<boolean>('enable', true);
}
