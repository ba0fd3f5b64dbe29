-- Keystroke to ghost text on screen in headless Neovim, with the Infill plugin, the real
-- server and the real model, typing a function body one key every GAP ms. Run by
-- benches/scripts/editor-latency.sh for each MODE ('builtin': Neovim 0.12's
-- vim.lsp.inline_completion; 'extmarks': the plugin's own requests and extmarks).
-- Env: NVIM_PLUGIN, INFILL_SERVER, INFILL_MODEL, WORK, MODE, OUT (one line per key: index,
-- key, ms until the screen showed the server's answer for the text ('-': not before the
-- next key, 'none': no suggestion there), and 1 when the first thing shown after the key
-- was not that answer (a new answer was needed, not the rest of the one being typed)).
local mode = os.getenv('MODE')
vim.opt.runtimepath:prepend(os.getenv('NVIM_PLUGIN'))
vim.cmd('filetype on')
vim.o.swapfile = false
vim.o.autoindent = false -- the typed text carries its own indentation

local infill = require('infill').setup({
  cmd = { os.getenv('INFILL_SERVER') },
  model = os.getenv('INFILL_MODEL'),
  builtin = mode == 'builtin',
  -- the defaults a user gets (time budget and limit on)
})
local GAP = 500 -- ms between keystrokes: room for the built-in's 200 ms debounce and the model
local body = table.concat({
  '    ordered = sorted(values)',
  '    count = len(ordered)',
  '    middle = count // 2',
  '    if count % 2 == 1:',
  '        return ordered[middle]',
  '    return (ordered[middle - 1] + ordered[middle]) / 2',
}, '\n')
local file = os.getenv('WORK') .. '/median.py'
vim.fn.writefile({ 'def median(values):', '    """Return the median of values."""', '' }, file)
vim.cmd('edit ' .. vim.fn.fnameescape(file))
local out = assert(io.open(os.getenv('OUT'), 'w'))

-- The ghost text on screen at the cursor, or nil.
local function on_screen()
  local shown = infill.current()
  if not shown or shown.text == '' then return nil end
  local pos = vim.api.nvim_win_get_cursor(0)
  if shown.row ~= pos[1] - 1 or shown.col ~= pos[2] then return nil end
  return shown.text
end

-- What the server answers for the text as it is now (its cache has it when the plugin
-- asked before), as the part still to insert at the cursor; '' for no suggestion.
local function answer_now()
  local client = require('infill.server').client(0)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 2 }
  local answers = vim.lsp.buf_request_sync(0, 'textDocument/inlineCompletion', params, 5000) or {}
  local result = answers[client.id] and answers[client.id].result
  local item = result and (result.items or result)[1]
  if not item then return '' end
  local line = vim.api.nvim_get_current_line()
  local col = vim.api.nvim_win_get_cursor(0)[2]
  local typed = line:sub(item.range.start.character + 1, col) -- utf-8 positions (ASCII text here)
  return item.insertText:sub(#typed + 1)
end

local i = 0
local function next_key()
  i = i + 1
  if i > #body then
    out:close()
    return vim.cmd('qall!')
  end
  local key = body:sub(i, i)
  local sent = vim.uv.hrtime()
  local changes = {} -- { ms, text } at the first poll and each time what is on screen changed
  local last = false -- (nothing polled yet: nil is "no ghost text")
  vim.api.nvim_feedkeys(key == '\n' and vim.api.nvim_replace_termcodes('<CR>', true, false, true) or key, 'n', false)
  local timer = vim.uv.new_timer()
  timer:start(1, 1, vim.schedule_wrap(function()
    local elapsed = (vim.uv.hrtime() - sent) / 1e6
    local text = on_screen()
    if text ~= last then
      table.insert(changes, { elapsed, text })
      last = text
    end
    if elapsed < GAP or timer:is_closing() then return end
    timer:stop()
    timer:close()
    -- When did the screen start showing the server's answer for this text (and keep it)?
    local want = answer_now()
    local at = '-'
    if want == '' then
      at = 'none'
    elseif last == want then
      at = string.format('%.1f', changes[#changes][1])
    end
    -- Whether the screen had to change: what showed right after the key was not the answer.
    local fresh = (changes[1] and changes[1][2]) ~= want and 1 or 0
    out:write(string.format('%d\t%s\t%s\t%d\n', i, key == '\n' and '\\n' or key, at, fresh))
    next_key()
  end))
end

-- Start once the model is loaded, in insert mode on the empty third line.
local waited = vim.wait(120000, function() return infill.status().state == 'ready' end, 50)
if not waited then
  out:write('server not ready\n')
  out:close()
  vim.cmd('cquit 1')
end
vim.api.nvim_win_set_cursor(0, { 3, 0 })
vim.api.nvim_feedkeys('A', 'n', false)
vim.defer_fn(next_key, 500)
