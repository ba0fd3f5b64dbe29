-- The one `infill-ls` client: starting it for a buffer, and what it told us
-- (`infill/status`, `infill/didComplete`, showMessage).
local compat = require('infill.compat')
local config = require('infill.config')

local M = {}

--- The name the client runs under.
M.name = 'infill'

--- The server's last `infill/status` (`state`: starting, noModel, loading, ready, error).
M.status = { state = 'starting' }
--- The last `infill/didComplete`: where the last answer's time went.
M.last = nil
--- Why the server is not running, when it could not be started.
M.problem = nil

local warned = {}
--- Tells the user once per distinct message.
local function tell_once(message, level)
  if warned[message] then return end
  warned[message] = true
  vim.notify(message, level or vim.log.levels.WARN)
end

local handlers = {
  ['infill/status'] = function(_, result)
    if type(result) == 'table' then M.status = result end
  end,
  ['infill/didComplete'] = function(_, result)
    -- A request overtaken by typing says nothing about the server: keep the last answer.
    if type(result) ~= 'table' or result.noAnswer == 'superseded' or result.noAnswer == 'stale' then return end
    M.last = result
  end,
  -- The server's messages (no model, a bad model file) through vim.notify, so they reach
  -- whatever shows the user's notifications.
  ['window/showMessage'] = function(_, result)
    if type(result) ~= 'table' or type(result.message) ~= 'string' then return end
    local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }
    vim.notify('infill: ' .. result.message, levels[result.type] or vim.log.levels.INFO)
  end,
}

--- The command to start, or nil and why not.
function M.command()
  local cmd = config.options.cmd
  if type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then return nil, 'infill: `cmd` must be a list such as { "infill-ls" }' end
  if vim.fn.executable(cmd[1]) ~= 1 then
    return nil, string.format(
      'infill: the server `%s` was not found. Install it with `cargo install --path server` in the Infill repository, '
        .. 'or pass its path: require("infill").setup({ cmd = { "/path/to/infill-ls" } })', cmd[1])
  end
  return cmd
end

--- Starts the server (once) and attaches it to `bufnr`; `on_attach(client, bufnr)` runs per buffer.
function M.attach(bufnr, on_attach)
  local cmd, why = M.command()
  if not cmd then
    M.problem = why
    tell_once(why, vim.log.levels.ERROR)
    return
  end
  local path = vim.api.nvim_buf_get_name(bufnr)
  local spec = {
    name = M.name,
    cmd = cmd,
    root_dir = compat.root(path ~= '' and path or vim.fn.getcwd()),
    init_options = config.options.settings,
    handlers = handlers,
    on_attach = on_attach,
    on_exit = function(code, signal)
      if code ~= 0 or signal ~= 0 then
        M.status = { state = 'error', message = string.format('the server exited (code %d, signal %d)', code, signal) }
        vim.schedule(function() tell_once('infill: ' .. M.status.message .. '; see :InfillStatus and :LspLog') end)
      end
    end,
  }
  if vim.lsp.start then
    -- One server for every buffer and project: it loads the model once.
    vim.lsp.start(spec, { bufnr = bufnr, reuse_client = function(client) return client.name == M.name end })
  else
    -- Neovim 0.7: no vim.lsp.start.
    if not M.client_id or not vim.lsp.get_client_by_id(M.client_id) then M.client_id = vim.lsp.start_client(spec) end
    if M.client_id then vim.lsp.buf_attach_client(bufnr, M.client_id) end
  end
end

--- The running client attached to `bufnr` (0: current), if any.
function M.client(bufnr)
  return compat.clients(bufnr or 0, M.name)[1]
end

--- Any running Infill client.
function M.any_client()
  if vim.lsp.get_clients then return vim.lsp.get_clients({ name = M.name })[1] end
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == M.name then return client end
  end
end

local cursor_timer = nil
--- Tells the server, once the cursor has rested a moment, where it is in `bufnr`
--- (`infill/cursor`), so the server can prepare that place before the first keystroke.
function M.cursor_moved(bufnr)
  if cursor_timer then cursor_timer:stop() end
  cursor_timer = cursor_timer or vim.loop.new_timer()
  cursor_timer:start(200, 0, vim.schedule_wrap(function()
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_get_current_buf() ~= bufnr then return end
    local client = M.client(bufnr)
    if not client then return end
    local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
    compat.notify(client, 'infill/cursor', { textDocument = params.textDocument, position = params.position })
  end))
end

--- Sends changed settings to the running server.
function M.send_settings(settings)
  local client = M.any_client()
  if client then compat.notify(client, 'workspace/didChangeConfiguration', { settings = { infill = settings } }) end
end

return M
