-- `:checkhealth infill`
local M = {}

local health = vim.health or require('health')
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

function M.check()
  local infill = require('infill')
  local config = require('infill.config')
  local server = require('infill.server')
  start('infill')

  local mode, why = infill.mode()
  if mode == 'popup' then
    warn(string.format('suggestions in the completion popup only: %s', why or ''), { 'Neovim 0.10 or newer shows ghost text' })
  else
    ok(string.format('Neovim %s: ghost text via %s', require('infill.compat').version(),
      mode == 'builtin' and 'the built-in vim.lsp.inline_completion' or 'extmarks'))
  end

  local cmd, problem = server.command()
  if not cmd then
    error(problem)
  else
    local version = vim.fn.system({ cmd[1], '--version' })
    if vim.v.shell_error == 0 then ok(string.format('server: %s (%s)', vim.trim(version), vim.fn.exepath(cmd[1])))
    else error(string.format('`%s --version` failed: %s', cmd[1], vim.trim(version))) end
  end

  local model = config.options.settings.model
  if not model then
    warn('no model set: the default model is used if `infill-ls fetch` downloaded it, else nothing is suggested',
      { 'require("infill").setup({ model = "/path/to/model.gguf" })' })
  elseif model:match('%.gguf$') and not model:match('^[%w._-]+/[%w._-]+/') and vim.fn.filereadable(vim.fn.expand(model)) ~= 1 then
    error('model file not found: ' .. model)
  else
    ok('model: ' .. model)
  end

  local s = infill.status()
  if not s.running then
    info('the server is not running (it starts with a ' .. table.concat(config.options.filetypes, ', ') .. ' buffer)')
  elseif s.state == 'ready' then
    ok('server ready' .. (s.model and (', model ' .. s.model) or ''))
  elseif s.state == 'error' then
    error('server error: ' .. (s.message or '?'))
  elseif s.state == 'noModel' then
    warn('the server has no model, so it suggests nothing')
  else
    info('server state: ' .. tostring(s.state))
  end
end

return M
