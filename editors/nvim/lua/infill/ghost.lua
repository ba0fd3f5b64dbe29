-- Ghost text for Neovim 0.10 and 0.11, which have no built-in inline completion:
-- `textDocument/inlineCompletion` is asked on every change in insert mode and its first
-- item drawn with an inline extmark (virt_lines for the lines after the first).
local compat = require('infill.compat')
local config = require('infill.config')
local pieces = require('infill.pieces')
local server = require('infill.server')

local M = {}

local ns = vim.api.nvim_create_namespace('infill.ghost')
--- Per buffer: `cancel` (the request in flight), `asked` (what it was for), `shown`
--- ({ row, col, text, replace_end, before } of the suggestion on screen: 0-based bytes;
--- `before` is the line up to `col`, to tell when the text moved under it).
local buffers = {}

local function state(bufnr)
  buffers[bufnr] = buffers[bufnr] or {}
  return buffers[bufnr]
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function render(bufnr, s)
  vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
  local shown = s.shown
  if not shown or shown.text == '' then return end
  local hl = config.options.hl_group
  local lines = vim.split(shown.text, '\n', { plain = true })
  local opts = { virt_text = { { lines[1], hl } }, virt_text_pos = 'inline', hl_mode = 'combine' }
  if #lines > 1 then
    opts.virt_lines = {}
    for i = 2, #lines do table.insert(opts.virt_lines, { { lines[i], hl } }) end
  end
  pcall(vim.api.nvim_buf_set_extmark, bufnr, ns, shown.row, shown.col, opts)
end

--- Hides the suggestion and cancels the request in flight.
function M.dismiss(bufnr)
  bufnr = bufnr == 0 and vim.api.nvim_get_current_buf() or bufnr or vim.api.nvim_get_current_buf()
  local s = state(bufnr)
  if s.cancel then s.cancel() end
  s.cancel, s.asked, s.shown = nil, nil, nil
  if vim.api.nvim_buf_is_valid(bufnr) then vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1) end
end

--- The suggestion on screen in the current buffer: { row, col, text } or nil.
function M.current()
  return state(vim.api.nvim_get_current_buf()).shown
end

-- Turns an item into what is left to show at the cursor, or nil when it does not fit here.
local function place(bufnr, item, encoding)
  local text = item.insertText
  if type(text) == 'table' then text = text.value end
  if type(text) ~= 'string' or text == '' then return nil end
  local row, col = cursor()
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local replace_end = col
  if item.range then
    local start, finish = item.range.start, item.range['end']
    if start.line ~= row then return nil end
    local start_col = compat.byte_col(line, start.character, encoding)
    if finish.line == row then replace_end = math.max(col, compat.byte_col(line, finish.character, encoding)) end
    if start_col > col then return nil end
    -- What the item repeats of the text before the cursor is already there.
    local typed = line:sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then return nil end
    text = text:sub(#typed + 1)
  end
  if text == '' then return nil end
  return { row = row, col = col, text = text, replace_end = replace_end, before = line:sub(1, col) }
end

local function request(bufnr)
  local client = server.client(bufnr)
  if not client then return end
  local s = state(bufnr)
  local row, col = cursor()
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  if s.asked and s.asked[1] == tick and s.asked[2] == row and s.asked[3] == col then return end
  if s.cancel then s.cancel() end
  s.asked = { tick, row, col }
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 2 } -- Automatic
  local encoding = client.offset_encoding
  s.cancel = compat.request(client, 'textDocument/inlineCompletion', params, function(err, result)
    s.cancel = nil
    if err or type(result) ~= 'table' then return end
    -- Only an answer for the text and place the user is at now is shown.
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_get_current_buf() ~= bufnr then return end
    if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick or not vim.api.nvim_get_mode().mode:match('^i') then return end
    local now_row, now_col = cursor()
    if now_row ~= row or now_col ~= col then return end
    local items = result.items or result
    local shown = items[1] and place(bufnr, items[1], encoding)
    s.shown = shown
    render(bufnr, s)
  end, bufnr)
end

-- Brings the suggestion up to date with the text: keeps the part the user has not typed
-- yet when they typed along it, drops it when they typed or moved elsewhere.
local function follow(bufnr, s)
  local shown = s.shown
  if not shown then return end
  local row, col = cursor()
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  if shown.row ~= row or col < shown.col or line:sub(1, shown.col) ~= shown.before then
    s.shown = nil
    return
  end
  local typed = line:sub(shown.col + 1, col)
  if typed == '' then return end
  local first = shown.text:match('^[^\n]*')
  if shown.text:sub(1, #typed) ~= typed or #typed >= #first then
    s.shown = nil
    return
  end
  shown.text, shown.col, shown.before = shown.text:sub(#typed + 1), col, line:sub(1, col)
  shown.replace_end = math.max(col, shown.replace_end + #typed)
end

-- After a change or a move: follow the text, then ask again.
local function on_change(bufnr)
  local s = state(bufnr)
  follow(bufnr, s)
  render(bufnr, s)
  request(bufnr)
end

--- Accepts the whole suggestion, its next word or its line (`kind`: 'all', 'word', 'line'),
--- at the cursor, also when keys typed along it were not seen by an autocmd yet.
--- Returns false when none is shown.
function M.accept(kind)
  local bufnr = vim.api.nvim_get_current_buf()
  local s = state(bufnr)
  follow(bufnr, s)
  local shown = s.shown
  if not shown then
    render(bufnr, s)
    return false
  end
  local part = pieces.take(shown.text, kind or 'all')
  local whole = part == shown.text
  local row, col = pieces.insert(bufnr, shown.row, shown.col, whole and shown.replace_end or shown.col, part)
  if whole then
    s.shown = nil
  else
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    s.shown = { row = row, col = col, text = shown.text:sub(#part + 1), replace_end = col, before = line:sub(1, col) }
  end
  render(bufnr, s)
  return true
end

--- Starts ghost text in a buffer.
function M.attach(bufnr)
  local group = vim.api.nvim_create_augroup('infill.ghost.' .. bufnr, { clear = true })
  -- A change and a move are the same to us: the suggestion follows the text (or goes),
  -- and the place is asked for (once per text and cursor).
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'TextChangedP', 'CursorMovedI' }, {
    group = group, buffer = bufnr, callback = function() on_change(bufnr) end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group, buffer = bufnr, callback = function() M.dismiss(bufnr) end,
  })
  vim.api.nvim_create_autocmd('BufUnload', {
    group = group, buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
      buffers[bufnr] = nil
      pcall(vim.api.nvim_del_augroup_by_id, group)
    end,
  })
end

--- The namespace of the ghost-text extmarks (tests look there).
M.namespace = ns

return M
