-- Neovim with the plugin and the real server but no model: the user is told clearly (the
-- server's message through vim.notify), no error trace, typing shows nothing; then a
-- missing server binary gets a clear message too.
-- Env: NVIM_PLUGIN, INFILL_SERVER, WORK.
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h')
package.path = here .. '/?.lua;' .. package.path
local t = require('nvim_steps')
t.load_plugin()

local notes = {}
vim.notify = function(message, level) table.insert(notes, { message = tostring(message), level = level or vim.log.levels.INFO }) end
local function noted(pattern, level)
  for _, n in ipairs(notes) do
    if n.message:match(pattern) and (not level or n.level == level) then return n.message end
  end
end

local infill = require('infill').setup({ cmd = { os.getenv('INFILL_SERVER') } })
local file = os.getenv('WORK') .. '/main.py'
vim.fn.writefile({ 'def main():', '    ' }, file)
vim.cmd('edit ' .. vim.fn.fnameescape(file))

t.step('no model: the server says so in a message', function()
  return infill.status().state == 'noModel' and noted('no model') and noted('no model'):sub(1, 90)
end, 30000)
t.step('no model: typing shows nothing and raises no error', function()
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  t.keys('Areturn ')
  return true
end, 1000, false)
local waited = 0
t.step('no model: typing shows nothing and raises no error', function()
  waited = waited + 1
  if waited < 20 then return false end -- one second of typing time
  local errors = {}
  for _, n in ipairs(notes) do if n.level == vim.log.levels.ERROR then table.insert(errors, n.message) end end
  if infill.current() or #errors > 0 or vim.v.errmsg ~= '' then
    error(string.format('ghost=%s errors=%s errmsg=%q', vim.inspect(infill.current()), vim.inspect(errors), vim.v.errmsg))
  end
  return vim.api.nvim_get_current_line() == '    return '
end, 5000)
t.step('no model: :InfillStatus says noModel', function()
  return table.concat(infill.status_lines(), '\n'):match('Infill: noModel') ~= nil
end, 2000)
t.step('a missing server binary gets a clear message', function()
  t.keys('<Esc>')
  require('infill').setup({ cmd = { '/nonexistent/infill-ls' } })
  vim.cmd('edit ' .. vim.fn.fnameescape(os.getenv('WORK') .. '/other.py'))
  local message = noted('was not found', vim.log.levels.ERROR)
  return message and message:match('cargo install') and message:sub(1, 80)
end, 5000)
t.run()
