-- Neovim 0.10+ with the Infill plugin, the real server and the real model: ghost text
-- appears while typing in insert mode and is the server's suggestion; accept word, accept
-- (Tab) and dismiss work; the saved file has the text; :InfillStatus and :checkhealth.
-- Env: NVIM_PLUGIN (editors/nvim), INFILL_SERVER, INFILL_MODEL, WORK (a scratch folder).
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
package.path = here .. '/?.lua;' .. package.path
local t = require('nvim_steps')
t.load_plugin()

-- The user's own Tab mapping: Infill's Tab must hand over to it when nothing is shown.
vim.keymap.set('i', '<Tab>', 'USERTAB')
local infill = require('infill').setup({
  cmd = { os.getenv('INFILL_SERVER') },
  model = os.getenv('INFILL_MODEL'),
  -- no time limits: this checks the client (the model shares CI's two cores with the editor)
  settings = { timeLimitMs = 0, timeBudgetMs = 0, maxTokens = 24, confidence = 'off' },
})

local file = os.getenv('WORK') .. '/greet.py'
vim.fn.writefile({ 'def greet(name):', '    """Return a friendly greeting for name."""', '    ', '' }, file)
vim.cmd('edit ' .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
local function line(n) return vim.api.nvim_buf_get_lines(buf, n - 1, n, false)[1] end

local ghost, first_word
t.step('server ready', function()
  local s = infill.status()
  return s.running and s.state == 'ready' and ('mode ' .. s.mode)
end, 90000)
t.step('type in insert mode', function()
  vim.api.nvim_win_set_cursor(0, { 3, 4 })
  t.keys('Areturn ')
  return true
end, 1000, false)
t.step('ghost-text extmark appears while typing', function()
  local shown = infill.current()
  if not (shown and shown.text ~= '' and vim.api.nvim_get_mode().mode == 'i' and line(3) == '    return ') then return false end
  ghost = shown.text
  return string.format('%q at %d:%d', ghost, shown.row, shown.col)
end, 60000)
t.step('the ghost text is the server\'s suggestion', function()
  local client = require('infill.server').client(buf)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 1 }
  local answers = vim.lsp.buf_request_sync(buf, 'textDocument/inlineCompletion', params, 30000) or {}
  local answer = answers[client.id] and answers[client.id].result
  local item = answer and (answer.items or answer)[1]
  local text = item and item.insertText
  -- the item's range starts at or before the cursor: drop what it repeats
  if item and item.range then text = text:sub(4 + #'return ' - item.range.start.character + 1) end
  if text ~= ghost then return error(string.format('server says %q, ghost %q', tostring(text), ghost)) end
  return true
end, 35000)
t.step('accept word inserts the first word and keeps the rest shown', function()
  first_word = require('infill.pieces').word(ghost)
  t.keys('<M-w>')
  return true
end, 1000, false)
t.step('accept word inserts the first word and keeps the rest shown', function()
  if line(3) ~= '    return ' .. first_word then return false end
  local shown = infill.current()
  local rest = ghost:sub(#first_word + 1)
  if rest == '' then return 'the suggestion was one word' end
  return shown and ghost:sub(#first_word + 1, #first_word + #shown.text) == shown.text and shown.text ~= ''
    and string.format('%q then %q', first_word, shown.text)
end, 30000)
local rest
t.step('Tab right after typing along the suggestion accepts the rest at the cursor', function()
  local shown = infill.current()
  if not shown then return false end
  rest = shown.text
  -- one key of the suggestion and Tab at once, before any autocmd runs in between
  t.keys(rest:sub(1, 1) .. '<Tab>')
  return true
end, 30000, false)
t.step('Tab right after typing along the suggestion accepts the rest at the cursor', function()
  local want = '    return ' .. first_word .. rest
  local got = table.concat(vim.api.nvim_buf_get_lines(buf, 2, 2 + select(2, want:gsub('\n', '')) + 1, false), '\n')
  return got == want and string.format('%q', got)
end, 5000)
t.step('dismiss hides a suggestion', function()
  t.keys('<End><CR>print')
  return true
end, 1000, false)
t.step('dismiss hides a suggestion', function()
  if not infill.current() then return false end
  t.keys('<C-]>')
  return true
end, 60000, false)
t.step('dismiss hides a suggestion', function()
  return infill.current() == nil and line(4):match('print$') ~= nil
end, 3000)
t.step('Tab with no suggestion runs the user\'s own Tab mapping', function()
  t.keys('<Tab>')
  return true
end, 1000, false)
t.step('Tab with no suggestion runs the user\'s own Tab mapping', function()
  return line(4) == '    printUSERTAB' and line(4)
end, 3000)
t.step('the saved file has the accepted text', function()
  t.keys('<Esc>:w<CR>')
  return true
end, 1000, false)
t.step('the saved file has the accepted text', function()
  local saved = table.concat(vim.fn.readfile(file), '\n')
  return saved:find('    return ' .. first_word .. rest, 1, true) ~= nil and 'yes'
end, 5000)
t.step(':InfillStatus shows ready and the last latency', function()
  local text = table.concat(infill.status_lines(), '\n')
  vim.cmd('InfillStatus')
  return text:match('Infill: ready') and text:match('last answer: %d+ ms') and text:gsub('\n%s*', ' | ')
end, 5000)
t.step(':checkhealth infill reports the server and the model', function()
  vim.cmd('checkhealth infill')
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  local okish = report:match('server: infill%-ls %d') and report:match('server ready') and not report:match('ERROR')
  if not okish then error(report) end
  return true
end, 10000)
t.run()
