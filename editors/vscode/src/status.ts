// The status bar item: the server's state (`infill/status`) and the last answer's
// latency (`infill/didComplete`).
import * as vscode from 'vscode';

/** `infill/status` as the server sends it. */
export interface ServerStatus {
  state: 'noModel' | 'loading' | 'ready' | 'error';
  model?: string;
  name?: string;
  message?: string;
}

/** `infill/didComplete`: what one request came to, and where its time went. */
export interface DidComplete {
  /** Where the answer came from; absent when there was none. */
  source?: string;
  /** Why there was no answer (`disabled`, `notOpen`, `superseded`, `stale`, `failed`). */
  noAnswer?: string;
  suggestionChars: number;
  totalMs: number;
  /** The model's part: present when the model ran (`source` is `model`). */
  reusedTokens?: number;
  evaluatedTokens?: number;
  generatedTokens?: number;
  promptMs?: number;
  prefillMs?: number;
  ttftMs?: number;
  decodeMs?: number;
  stop?: string;
  /** Which backend wrote the answer (`local`, `remote`), when the router ran. */
  backend?: string;
  /** What the router did (`localOnly`, `confident`, `remoteInTime`, `remoteLate`, ...). */
  route?: string;
  /** Why the remote backend was asked (`lowConfidence`, `block`). */
  askedBecause?: string;
  /** The confidence filter's verdict. */
  confidence?: { score: number; shown: boolean };
}

type State =
  | { kind: 'starting' }
  | { kind: 'server'; status: ServerStatus }
  | { kind: 'failed'; message: string };

/** Shows what the server is doing; clicking it offers the commands. */
export class StatusIndicator implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('infill.status', vscode.StatusBarAlignment.Right, 100);
  private state: State = { kind: 'starting' };
  private last?: DidComplete;
  private enabled = true;

  constructor() {
    this.item.name = 'Infill';
    this.item.command = 'infill.menu';
    this.render();
    this.item.show();
  }

  /** The server is being started. */
  starting(): void { this.state = { kind: 'starting' }; this.render(); }

  /** The server could not be started or stopped unexpectedly. */
  failed(message: string): void { this.state = { kind: 'failed', message }; this.render(); }

  /** A new `infill/status`. */
  server(status: ServerStatus): void {
    this.state = { kind: 'server', status };
    this.render();
  }

  /** An answer's timings. */
  completed(timing: DidComplete): void {
    // A request overtaken by typing says nothing about the server: keep the last answer.
    if (timing.noAnswer === 'superseded' || timing.noAnswer === 'stale') return;
    this.last = timing;
    this.render();
  }

  /** The `infill.enable` setting changed. */
  setEnabled(enabled: boolean): void { this.enabled = enabled; this.render(); }

  /** The text shown, for tests and the log. */
  get text(): string { return this.item.text; }

  private render(): void {
    const [icon, words, tooltip, problem] = this.describe();
    this.item.text = `${icon} Infill: ${words}`;
    this.item.tooltip = new vscode.MarkdownString(tooltip + '\n\n_Click for Infill commands._');
    this.item.backgroundColor = problem ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  private describe(): [string, string, string, boolean] {
    const s = this.state;
    if (s.kind === 'starting') return ['$(loading~spin)', 'starting', 'Starting `infill-ls`.', false];
    if (s.kind === 'failed') return ['$(error)', 'error', s.message, true];
    const status = s.status;
    switch (status.state) {
      case 'noModel':
        return ['$(circle-slash)', 'no model',
          'No model is configured, so nothing is suggested. Set `infill.model` to a `.gguf` file, or run **Infill: Download the Default Model**.', true];
      case 'loading':
        // A download's percentage shows in the progress notification the server starts.
        return ['$(loading~spin)', 'loading', `Loading \`${status.model ?? 'the model'}\`.`, false];
      case 'error':
        return ['$(error)', 'error', `The model could not be loaded: ${status.message ?? 'unknown error'}`, true];
      case 'ready': {
        const model = `Model: ${status.name || status.model || 'loaded'}.`;
        if (!this.enabled) return ['$(circle-slash)', 'off', `${model} Completions are off (**Infill: Toggle Completions**).`, false];
        if (!this.last) return ['$(sparkle)', 'ready', model, false];
        const t = this.last;
        const latency = `${Math.round(t.totalMs)} ms`;
        const detail = t.noAnswer
          ? `no answer (${t.noAnswer === 'failed' ? 'the engine failed: see the log' : t.noAnswer})`
          : t.source === 'model'
          ? `${t.evaluatedTokens ?? 0} prompt tokens evaluated, ${t.reusedTokens ?? 0} reused; ${t.generatedTokens ?? 0} generated ` +
            `(prompt ${(t.promptMs ?? 0).toFixed(1)} ms, prefill ${(t.prefillMs ?? 0).toFixed(0)} ms, ` +
            `first token ${(t.ttftMs ?? 0).toFixed(0)} ms, decode ${(t.decodeMs ?? 0).toFixed(0)} ms${t.stop ? `, stopped: ${t.stop}` : ''})`
          : t.source === 'remote'
          ? 'answered by the remote backend'
          : `answered from the ${t.source === 'typedAhead' ? 'suggestion being typed' : t.source === 'cache' ? 'cache' : 'text alone (no model needed)'}`;
        const routed = t.route
          ? `\n\nBackend: ${t.backend ?? 'none shown'} (${t.route}${t.askedBecause ? `, asked because of ${t.askedBecause}` : ''}).`
          : '';
        const confidence = t.confidence
          ? `\n\nConfidence: ${t.confidence.score.toFixed(2)}, ${t.confidence.shown ? 'shown' : 'hidden'}.`
          : '';
        const remote = t.backend === 'remote' ? ' · remote' : '';
        return ['$(sparkle)', `ready · ${latency}${remote}`, `${model}\n\nLast answer: ${latency}, ${detail}.${routed}${confidence}`, false];
      }
    }
    return ['$(question)', 'unknown', 'Unknown state.', true];
  }

  dispose(): void { this.item.dispose(); }
}
