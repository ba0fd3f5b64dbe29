// "Infill: Download the Default Model": runs `infill-ls fetch` with a progress
// notification, then points `infill.model` at the file.
import { spawn } from 'child_process';
import * as vscode from 'vscode';

/** Downloads the default model with the server's own `fetch` command. */
export async function fetchDefaultModel(command: string, output: vscode.OutputChannel): Promise<void> {
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Infill: downloading the default model', cancellable: true },
    (progress, token) => new Promise<{ path?: string; error?: string }>((resolve) => {
      const child = spawn(command, ['fetch'], { stdio: ['ignore', 'pipe', 'pipe'] });
      token.onCancellationRequested(() => child.kill());
      let stdout = '';
      let stderr = '';
      let reported = 0;
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => {
        const text = d.toString();
        stderr += text;
        // `infill-ls fetch` writes "\rdownloading:  42% of 398.0 MB"
        const matches = [...text.matchAll(/downloading:\s*(\d+)% of ([\d.]+ MB)/g)];
        const last = matches[matches.length - 1];
        if (last) {
          const percent = Number(last[1]);
          progress.report({ increment: percent - reported, message: `${percent}% of ${last[2]}` });
          reported = percent;
        }
      });
      child.on('error', (e) => resolve({ error: e.message }));
      child.on('close', (code) => {
        const file = stdout.trim().split('\n').pop();
        if (code === 0 && file) resolve({ path: file });
        else resolve({ error: token.isCancellationRequested ? 'cancelled' : lastLine(stderr) || `exit code ${code}` });
      });
    }),
  );
  if (result.path) {
    output.appendLine(`model downloaded: ${result.path}`);
    await vscode.workspace.getConfiguration('infill').update('model', result.path, vscode.ConfigurationTarget.Global);
    void vscode.window.showInformationMessage(`Infill: model downloaded to ${result.path}.`);
  } else {
    output.appendLine(`model download failed: ${result.error}`);
    void vscode.window.showErrorMessage(`Infill: the model download failed: ${result.error}`);
  }
}

function lastLine(text: string): string {
  return text.split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean).pop() ?? '';
}
