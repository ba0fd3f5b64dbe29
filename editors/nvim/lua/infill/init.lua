-- Infill for Neovim: starts `infill-ls` for the configured filetypes and shows its
-- suggestions as ghost text (0.12's built-in inline completion, our own extmarks on
-- 0.10/0.11) or, on older Neovim, in the completion popup.
local compat = require('infill.compat')
local config = require('infill.config')
local server = require('infill.server')

local M = {}

--- How suggestions are shown on this Neovim with these options:
--- 'builtin' (0.12+), 'extmarks' (0.10, 0.11) or 'popup'; and why, for the popup.
function M.mode()
  if not config.options.ghost_text then return 'popup', 'ghost_text = false in setup()' end
  if not compat.has('0.10') then
    return 'popup', string.format('ghost text needs Neovim 0.10 or newer (this is %s)', compat.version())
  end
  if config.options.builtin and require('infill.builtin').available() then return 'builtin' end
  return 'extmarks'
end

local function shower()
  local mode = M.mode()
  if mode == 'builtin' then return require('infill.builtin') end
  if mode == 'extmarks' then return require('infill.ghost') end
end

--- Accepts the suggestion (`kind`: 'all', 'word' or 'line'); false when none is shown.
function M.accept(kind)
  local ghost = shower()
  return ghost ~= nil and ghost.accept(kind) or false
end

--- Hides the suggestion.
function M.dismiss()
  local ghost = shower()
  if ghost then ghost.dismiss(0) end
end

--- The suggestion on screen in the current buffer ({ row, col, text }) or nil.
function M.current()
  local ghost = shower()
  return ghost and ghost.current() or nil
end

--- What `:InfillStatus` shows, as a table: mode, server state, model, last timings.
function M.status()
  local mode, why = M.mode()
  return {
    mode = mode, why = why, state = server.status.state, model = server.status.name or server.status.model,
    message = server.status.message or server.problem, last = server.last,
    running = server.any_client() ~= nil, enabled = config.options.settings.enable ~= false,
  }
end

--- `:InfillStatus` text.
function M.status_lines()
  local s = M.status()
  local lines = {}
  local state = s.running and s.state or (s.message and 'not running' or 'not started (open a ' .. table.concat(config.options.filetypes, '/') .. ' file)')
  table.insert(lines, string.format('Infill: %s%s%s', state, s.model and (', model ' .. s.model) or '', s.enabled and '' or ' (turned off)'))
  if s.message then table.insert(lines, '  ' .. s.message) end
  local shown = { builtin = 'ghost text (built-in vim.lsp.inline_completion)', extmarks = 'ghost text (extmarks)', popup = 'completion popup only' }
  table.insert(lines, '  suggestions: ' .. shown[s.mode] .. (s.why and (' (' .. s.why .. ')') or ''))
  local t = s.last
  if t then
    table.insert(lines, string.format('  last answer: %d ms from %s', math.floor((t.totalMs or 0) + 0.5), t.source or ('nothing: ' .. tostring(t.noAnswer))))
    if t.source == 'model' then
      table.insert(lines, string.format(
        '    %d prompt tokens evaluated, %d reused, %d generated; prompt %.1f ms, prefill %d ms, first token %d ms, decode %d ms%s',
        t.evaluatedTokens or 0, t.reusedTokens or 0, t.generatedTokens or 0, t.promptMs or 0, t.prefillMs or 0,
        t.ttftMs or 0, t.decodeMs or 0, (t.stop and t.stop ~= '') and (', stopped: ' .. t.stop) or ''))
    end
    if t.route then
      table.insert(lines, string.format('    backend: %s (%s%s)', t.backend or 'none shown', t.route,
        t.askedBecause and (', asked because of ' .. t.askedBecause) or ''))
    end
    if type(t.confidence) == 'table' and t.confidence.score then
      table.insert(lines, string.format('    confidence: %.2f, %s', t.confidence.score, t.confidence.shown and 'shown' or 'hidden'))
    end
  else
    table.insert(lines, '  last answer: none yet')
  end
  return lines
end

-- The insert-mode mapping of `key` that ours replaces (buffer-local first, then
-- global), as a function that runs it; or one that types the key itself.
local function previous_meaning(key)
  local before = vim.fn.maparg(key, 'i', false, true)
  local feed = function(keys, remap)
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), (remap and 'm' or 'n') .. 'i', false)
  end
  if type(before) ~= 'table' or vim.tbl_isempty(before) then
    return function() feed(key, false) end, false
  end
  return function()
    local remap = before.noremap ~= 1
    if before.callback then
      local result = before.callback()
      if before.expr == 1 and type(result) == 'string' and result ~= '' then feed(result, remap) end
      return
    end
    local rhs = before.expr == 1 and vim.api.nvim_eval(before.rhs) or before.rhs
    if rhs and rhs ~= '' then feed(rhs, remap) end
  end, true
end

local function map_keys(bufnr)
  local keys = config.options.keymaps or {}
  -- `on_unmapped`: what the key does when no suggestion is shown. Tab and Ctrl-] keep
  -- their meaning (the user's own mapping of them, if any); Alt-w and Alt-l would
  -- leave insert mode (:h i_META), so they do nothing unless the user had mapped them.
  local function set(key, action, keep_meaning, desc)
    if not key then return end
    local before, mapped = previous_meaning(key)
    local on_unmapped = (keep_meaning or mapped) and before or function() end
    vim.keymap.set('i', key, function()
      if not action() then on_unmapped() end
    end, { buffer = bufnr, silent = true, desc = desc })
  end
  set(keys.accept, function() return M.accept('all') end, true, 'Infill: accept the suggestion')
  set(keys.accept_word, function() return M.accept('word') end, false, 'Infill: accept a word')
  set(keys.accept_line, function() return M.accept('line') end, false, 'Infill: accept a line')
  set(keys.dismiss, function()
    if not M.current() then return false end
    M.dismiss()
    return true
  end, true, 'Infill: dismiss')
end

local function on_attach(client, bufnr)
  vim.api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI', 'BufEnter' }, {
    group = vim.api.nvim_create_augroup('infill_cursor_' .. bufnr, { clear = true }),
    buffer = bufnr,
    callback = function() server.cursor_moved(bufnr) end,
  })
  server.cursor_moved(bufnr)
  local mode = M.mode()
  if mode == 'popup' then
    vim.bo[bufnr].omnifunc = "v:lua.require'infill.popup'.omnifunc"
    require('infill.popup').attach(bufnr)
  else
    -- Suggestions are ghost text only: a completion plugin asking this server for
    -- popup items would supersede (cancel) the ghost text's request on every key.
    client.server_capabilities.completionProvider = nil
    shower().attach(bufnr)
    map_keys(bufnr)
  end
end

local told_mode = false
local function start(bufnr)
  local mode, why = M.mode()
  if mode == 'popup' and why and not told_mode and config.options.ghost_text then
    told_mode = true
    vim.notify('infill: ' .. why .. '; suggestions are in the completion popup (<C-x><C-o>).', vim.log.levels.INFO)
  end
  server.attach(bufnr, on_attach)
end

--- Sets Infill up: `require('infill').setup({ model = '/path/to/model.gguf' })`.
--- See `:help infill` for the options.
function M.setup(opts)
  config.set(opts)
  local group = vim.api.nvim_create_augroup('infill', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group, pattern = config.options.filetypes,
    callback = function(args) start(args.buf) end,
  })
  -- Buffers already open with a configured filetype.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.options.filetypes, vim.bo[bufnr].filetype) then
      start(bufnr)
    end
  end
  vim.api.nvim_create_user_command('InfillStatus', function()
    vim.api.nvim_echo({ { table.concat(M.status_lines(), '\n') } }, true, {})
  end, { desc = 'Infill: server state and the last answer\'s timings' })
  vim.api.nvim_create_user_command('InfillToggle', function()
    local enable = config.options.settings.enable == false
    config.options.settings.enable = enable
    server.send_settings(config.options.settings)
    if not enable then M.dismiss() end
    vim.notify('infill: completions ' .. (enable and 'on' or 'off'))
  end, { desc = 'Infill: turn completions on or off' })
  return M
end

return M
