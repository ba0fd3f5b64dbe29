-- Neovim older than 0.10 (Debian's 0.7.2): setup says why there is no ghost text, and
-- the completion popup (omnifunc, <C-x><C-o>) offers the server's suggestion.
-- Env: NVIM_PLUGIN, INFILL_SERVER, INFILL_MODEL, WORK.
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
package.path = here .. '/?.lua;' .. package.path
local t = require('nvim_steps')
t.load_plugin()
vim.o.completeopt = 'menuone,noinsert'

local notes = {}
vim.notify = function(message, level) table.insert(notes, tostring(message)) end

local infill = require('infill').setup({
  cmd = { os.getenv('INFILL_SERVER') },
  model = os.getenv('INFILL_MODEL'),
  settings = { timeLimitMs = 0, timeBudgetMs = 0, maxTokens = 24, confidence = 'off' },
})
local file = os.getenv('WORK') .. '/greet.py'
vim.fn.writefile({ 'def greet(name):', '    """Return a friendly greeting for name."""', '    ' }, file)
vim.cmd('edit ' .. vim.fn.fnameescape(file))

t.step('setup says why ghost text is off', function()
  for _, n in ipairs(notes) do
    if n:match('ghost text needs Neovim 0%.10') then return n end
  end
end, 5000)
t.step('server ready', function() return infill.status().state == 'ready' end, 90000, false)
local item
t.step('the completion popup shows the server\'s suggestion', function()
  vim.api.nvim_win_set_cursor(0, { 3, 4 })
  t.keys('Areturn <C-x><C-o>')
  return true
end, 1000, false)
t.step('the completion popup shows the server\'s suggestion', function()
  if vim.fn.pumvisible() ~= 1 then return false end
  local items = vim.fn.complete_info({ 'items' }).items
  item = items[1] and items[1].word
  return item and item ~= '' and string.format('%q', item)
end, 60000)
t.step('accepting it puts it into the buffer', function()
  t.keys('<C-y><Esc>')
  return true
end, 1000, false)
t.step('accepting it puts it into the buffer', function()
  return vim.api.nvim_buf_get_lines(0, 2, 3, false)[1] == '    return ' .. item and vim.fn.mode() == 'n'
end, 5000)
t.run()
