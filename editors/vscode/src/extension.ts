// Infill for VS Code: starts `infill-ls`, lets vscode-languageclient turn its
// `inlineCompletionProvider` into ghost text, and shows the server's state.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, State, TransportKind } from 'vscode-languageclient/node';
import { fetchDefaultModel } from './fetch';
import { enabled, serverPath, serverSettings } from './settings';
import { DidComplete, ServerStatus, StatusIndicator } from './status';

let client: LanguageClient | undefined;
let status: StatusIndicator;
let output: vscode.LogOutputChannel;
/** Starts and stops run one after another (a restart during a start waits for it). */
let lifecycle: Promise<void> = Promise.resolve();
let restartTimer: NodeJS.Timeout | undefined;

function serially(step: () => Promise<void>): Promise<void> {
  lifecycle = lifecycle.then(step, step);
  return lifecycle;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Infill', { log: true });
  status = new StatusIndicator();
  status.setEnabled(enabled());
  context.subscriptions.push(output, status);
  context.subscriptions.push(
    vscode.commands.registerCommand('infill.toggle', toggle),
    vscode.commands.registerCommand('infill.showLog', () => output.show(true)),
    vscode.commands.registerCommand('infill.fetchModel', () => fetchDefaultModel(serverPath(), output)),
    vscode.commands.registerCommand('infill.restart', () => serially(restart)),
    vscode.commands.registerCommand('infill.menu', menu),
    vscode.workspace.onDidChangeConfiguration(onSettingsChanged),
    vscode.window.onDidChangeTextEditorSelection((e) => cursorMoved(e.textEditor)),
    vscode.window.onDidChangeActiveTextEditor(cursorMoved),
  );
  await serially(start);
}

export async function deactivate(): Promise<void> {
  await serially(stop);
}

/** Starts the server; on failure the status bar and a message say why and what to do. */
async function start(): Promise<void> {
  status.starting();
  const command = serverPath();
  const found = resolveCommand(command);
  if (!found) {
    const message = `Infill could not find its server \`${command}\`. Install it with \`cargo install --path server\` ` +
      'from the Infill repository, or set `infill.serverPath` to the binary.';
    output.appendLine(message);
    status.failed(message);
    // Not awaited: activation and restarts must not wait for the user to close it.
    void vscode.window.showErrorMessage(message.replace(/`/g, ''), 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'infill.serverPath');
    });
    return;
  }
  const server: ServerOptions = { command: found, args: [], transport: TransportKind.stdio };
  const options: LanguageClientOptions = {
    // Every file and unsaved buffer: the server completes any language (Rust and Python with syntax).
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: serverSettings(),
    outputChannel: output,
    middleware: {
      // Ghost text is the suggestion's place. The server also answers completion-list
      // requests (for Helix), but one would supersede (cancel) the ghost text's request
      // for the same keystroke, so the list is never asked.
      provideCompletionItem: () => undefined,
    },
  };
  const created = new LanguageClient('infill', 'Infill', server, options);
  client = created;
  created.onNotification('infill/status', (s: ServerStatus) => status.server(s));
  created.onNotification('infill/didComplete', (t: DidComplete) => status.completed(t));
  created.onDidChangeState((e) => {
    if (client !== created) return;
    // After a crash the client restarts the server by itself (a few times): Starting
    // follows Stopped then, and the server's next infill/status says how it went.
    if (e.newState === State.Starting) status.starting();
    if (e.newState === State.Stopped) {
      status.failed('The server stopped. Run **Infill: Restart the Server**; **Infill: Show Log** says why.');
    }
  });
  try {
    await created.start();
    // Settings changed while the server was starting were not sent: send them now.
    await created.sendNotification('workspace/didChangeConfiguration', { settings: { infill: serverSettings(true) } });
  } catch (error) {
    const message = `Infill's server \`${found}\` did not start: ${error instanceof Error ? error.message : String(error)}`;
    output.appendLine(message);
    status.failed(message);
    void vscode.window.showErrorMessage(message.replace(/`/g, ''), 'Show Log').then((c) => c && output.show(true));
  }
}

let cursorTimer: NodeJS.Timeout | undefined;
/**
 * Tells the server, once the cursor has rested a moment, where it is (`infill/cursor`),
 * so the server can prepare that place before the first keystroke.
 */
function cursorMoved(editor: vscode.TextEditor | undefined): void {
  if (cursorTimer) clearTimeout(cursorTimer);
  if (!editor) return;
  cursorTimer = setTimeout(() => {
    const running = client;
    if (!running?.isRunning() || vscode.window.activeTextEditor !== editor) return;
    void running.sendNotification('infill/cursor', {
      textDocument: { uri: editor.document.uri.toString() },
      position: running.code2ProtocolConverter.asPosition(editor.selection.active),
    });
  }, 200);
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    try { await running.stop(2000); } catch { /* already stopped */ }
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

async function toggle(): Promise<void> {
  await vscode.workspace.getConfiguration('infill').update('enable', !enabled(), vscode.ConfigurationTarget.Global);
}

async function onSettingsChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  if (!event.affectsConfiguration('infill')) return;
  status.setEnabled(enabled());
  if (event.affectsConfiguration('infill.serverPath')) {
    // Each saved keystroke in the path would restart the server: wait for a pause.
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void serially(restart), 800);
    return;
  }
  if (client?.isRunning()) {
    await client.sendNotification('workspace/didChangeConfiguration', { settings: { infill: serverSettings(true) } });
  }
}

async function menu(): Promise<void> {
  const items: (vscode.QuickPickItem & { command: string })[] = [
    { label: enabled() ? 'Turn completions off' : 'Turn completions on', command: 'infill.toggle' },
    { label: 'Show the log', command: 'infill.showLog' },
    { label: 'Download the default model', command: 'infill.fetchModel' },
    { label: 'Restart the server', command: 'infill.restart' },
    { label: 'Settings', command: 'infill.settings' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: status.text.replace(/\$\([^)]*\)\s*/g, '') });
  if (!picked) return;
  if (picked.command === 'infill.settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:infill-ls.infill');
  } else {
    await vscode.commands.executeCommand(picked.command);
  }
}

/** The executable a command names (a path, or a name on PATH), or undefined when there is none. */
function resolveCommand(command: string): string | undefined {
  const executable = (file: string) => {
    try { fs.accessSync(file, fs.constants.X_OK); return fs.statSync(file).isFile(); } catch { return false; }
  };
  if (command.includes('/') || command.includes('\\')) return executable(command) ? command : undefined;
  const extensions = process.platform === 'win32' ? ['.exe', ''] : [''];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    for (const ext of extensions) {
      const candidate = path.join(dir, command + ext);
      if (dir && executable(candidate)) return candidate;
    }
  }
  return undefined;
}
