// The `infill.*` settings, as the server reads them (`initializationOptions` and
// `workspace/didChangeConfiguration` under an `infill` key).
import * as vscode from 'vscode';

/** Keys passed to the server; editor-only keys (serverPath, popup) stay here. */
const SERVER_KEYS = [
  'model', 'enable', 'maxTokens', 'threads', 'promptFormat', 'contextTokens',
  'timeBudgetMs', 'timeLimitMs', 'completionDelay', 'speculate', 'logLevel',
] as const;

/** The server settings the user set, leaving out empty values so the server's defaults apply. */
export function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration('infill');
  const settings: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const value = config.get(key);
    if (value === null || value === undefined || value === '') continue;
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

/** Whether suggestions also go to the completion list. */
export function popup(): boolean {
  return vscode.workspace.getConfiguration('infill').get<boolean>('popup', false);
}
