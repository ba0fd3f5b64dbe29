// VS Code (code-server) in headless Chromium, driven by Playwright, with the Infill
// extension (.vsix) and the real server and model. Prints "ok - ..." / "not ok - ..." lines.
// Env: CS_URL (workbench URL with ?folder=), WORK (that folder), OUT_DIR (screenshots), NODE_PATH (playwright-core).
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const WORK = process.env.WORK;
const OUT = process.env.OUT_DIR;
const FILE = path.join(WORK, 'greet.py');
const t0 = Date.now();
const lap = (m) => console.error(`[vscode ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const results = [];
function check(name, ok, detail) {
  results.push(ok);
  console.log(`${ok ? 'ok' : 'not ok'} - vscode: ${name}${detail ? ` (${detail})` : ''}`);
  return ok;
}

(async () => {
  fs.writeFileSync(FILE, 'def greet(name):\n    """Return a friendly greeting for name."""\n    \n');
  const browser = await chromium.launch({
    executablePath: process.env.CHROME || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    await page.goto(process.env.CS_URL);
    await page.waitForSelector('.monaco-workbench', { timeout: 90000 });
    await page.waitForSelector('.explorer-folders-view', { timeout: 60000 }); lap('workbench up');
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type(path.basename(FILE));
    await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 20000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('.editor-instance .monaco-editor .view-lines', { timeout: 30000 }); lap('file open');

    // The status bar item reaches "ready" once the server has loaded the model.
    const ready = await page.waitForSelector('.statusbar-item:has-text("Infill: ready")', { timeout: 120000 })
      .then(() => true, () => false);
    const statusText = await page.locator('.statusbar-item:has-text("Infill")').first().innerText().catch(() => '?');
    check('status bar reaches "Infill: ready"', ready, `status bar: ${JSON.stringify(statusText)}`);
    if (!ready) throw new Error('server not ready');

    // Start the function body: the cursor goes to the end of the empty third line.
    await page.click('.editor-instance .monaco-editor .view-lines');
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown'); await page.keyboard.press('ArrowDown'); await page.keyboard.press('End');
    await page.keyboard.type('return ', { delay: 60 }); lap('typed "return "');
    let ghost = await page.waitForSelector('.ghost-text-decoration', { timeout: 30000 }).catch(() => null);
    if (!ghost) {   // an answer that came back empty: ask explicitly (editor.action.inlineSuggest.trigger)
      await page.keyboard.press('Alt+Backslash');
      ghost = await page.waitForSelector('.ghost-text-decoration', { timeout: 30000 }).catch(() => null);
    }
    // VS Code colours ghost text by token: one span per token, all on the cursor's line.
    await page.waitForTimeout(200);
    const ghostText = ghost ? await page.$$eval('.view-line .ghost-text-decoration', (spans) => {
      const line = spans[0]?.closest('.view-line');
      return spans.filter((s) => s.closest('.view-line') === line).map((s) => s.textContent).join('');
    }) : '';
    check('ghost text appears after typing in a Python function body', ghostText.trim().length > 0, JSON.stringify(ghostText));
    await page.screenshot({ path: path.join(OUT, 'vscode-ghost-text.png') });
    const latency = await page.locator('.statusbar-item:has-text("Infill")').first().innerText().catch(() => '?');
    check('status bar shows the last latency', /ready · \d+ ms/.test(latency), JSON.stringify(latency));
    if (!ghostText) throw new Error('no ghost text');

    await page.keyboard.press('Tab'); lap('Tab');
    await page.waitForTimeout(300);
    await page.keyboard.press('Control+S');
    const expected = '    return ' + ghostText.replace(/\u00a0/g, ' ');
    let saved = '';
    for (let i = 0; i < 50; i++) {
      saved = fs.readFileSync(FILE, 'utf8');
      if (saved.split('\n')[2] === expected) break;
      await page.waitForTimeout(100);
    }
    check('Tab accepts the ghost text and the saved file contains it', saved.split('\n')[2] === expected,
      `line 3 ${JSON.stringify(saved.split('\n')[2])}, shown ${JSON.stringify(expected)}`);
    check('Infill items stay out of the completion list (ghost text only)',
      (await page.locator('.suggest-widget .monaco-list-row:has-text("Infill")').count()) === 0);

    // Infill: Toggle Completions turns suggestions off: the status says so and typing shows none.
    await page.keyboard.press('End'); await page.keyboard.press('Enter');
    await page.keyboard.press('F1');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type('Infill: Toggle Completions');
    await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Toggle Completions")', { timeout: 20000 });
    await page.keyboard.press('Enter');
    const off = await page.waitForSelector('.statusbar-item:has-text("Infill: off")', { timeout: 20000 }).then(() => true, () => false);
    await page.keyboard.type('print', { delay: 60 });
    await page.keyboard.press('Alt+Backslash');
    const ghostWhenOff = await page.waitForSelector('.ghost-text-decoration', { timeout: 3000 }).then(() => true, () => false);
    check('Toggle Completions: status "Infill: off" and no ghost text', off && !ghostWhenOff, `off=${off} ghost=${ghostWhenOff}`);

    // A model file that is not there, set as a user would (in settings.json): the status
    // bar says "error" and a message says why.
    const settings = JSON.parse(fs.readFileSync(process.env.SETTINGS, 'utf8'));
    Object.assign(settings, { 'infill.enable': true, 'infill.model': path.join(WORK, 'missing-model.gguf') });
    await page.keyboard.press('F1');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
    await page.keyboard.type('Preferences: Open User Settings (JSON)');
    await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Open User Settings (JSON)")', { timeout: 20000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('.tab.active:has-text("settings.json")', { timeout: 20000 });
    await page.waitForTimeout(500);
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(JSON.stringify(settings, null, 1));
    await page.keyboard.press('Control+S');
    const error = await page.waitForSelector('.statusbar-item:has-text("Infill: error")', { timeout: 30000 }).then(() => true, () => false);
    const toast = await page.waitForSelector('.notifications-toasts .notification-list-item:has-text("missing-model.gguf")', { timeout: 30000 })
      .then((t) => t.innerText(), () => '');
    await page.screenshot({ path: path.join(OUT, 'vscode-bad-model.png') });
    check('a missing model file: status "Infill: error" and a message naming the file', error && toast.includes('cannot load'),
      JSON.stringify(toast.replace(/\s+/g, ' ').slice(0, 160)));

    // Clearing the model setting reaches the server (as null): it drops the model.
    delete settings['infill.model'];
    await page.click('.editor-instance .monaco-editor .view-lines');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(JSON.stringify(settings, null, 1));
    await page.keyboard.press('Control+S');
    const noModel = await page.waitForSelector('.statusbar-item:has-text("Infill: no model")', { timeout: 30000 }).then(() => true, () => false);
    check('clearing infill.model: status "Infill: no model"', noModel);
  } catch (e) {
    check('session', false, e.message);
    await page.screenshot({ path: path.join(OUT, 'vscode-failure.png') }).catch(() => {});
  } finally {
    await browser.close();
  }
  process.exitCode = results.every(Boolean) ? 0 : 1;
})();
