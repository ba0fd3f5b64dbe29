-- Ghost text on Neovim 0.12+: the built-in `vim.lsp.inline_completion` asks and draws;
-- this adds accept word/line and dismiss on top of it.
local pieces = require('infill.pieces')

local M = {}

--- Whether this Neovim has the built-in inline completion.
function M.available()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.get ~= nil
end

--- Turns it on for a buffer.
function M.attach(bufnr)
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
end

-- The suggestion's text still to be inserted at the cursor, the cursor, and the end of
-- the text after the cursor it replaces; nil when what was typed since the item came
-- is not its start. (The item stays on screen while typing: Neovim shows it again after
-- each key and asks anew only after a pause.)
local function remainder(bufnr, item)
  local text = item.insert_text
  if type(text) ~= 'string' then return nil end
  local pos = vim.api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local replace_end = col
  if item.range then
    local start_row, start_col, end_row, end_col = item.range:to_extmark()
    if start_row ~= row or start_col > col then return nil end
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local typed = line:sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then return nil end
    text = text:sub(#typed + 1)
    -- Text after the cursor the item replaces (our server's ranges end at the cursor).
    if end_row == row and end_col > start_col then replace_end = math.min(#line, col + math.max(0, end_col - start_col - #typed)) end
  end
  return text, row, col, replace_end
end

--- Accepts the whole suggestion, its next word or its line, at the cursor (even when
--- the user typed part of it since it came); false when none is shown.
function M.accept(kind)
  local bufnr = vim.api.nvim_get_current_buf()
  if not M.current() then return false end
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      local text, row, col, replace_end = remainder(bufnr, item)
      if not text or text == '' then return nil end
      local part = pieces.take(text, kind or 'all')
      pieces.insert(bufnr, row, col, part == text and replace_end or col, part)
      return nil -- inserted here; the change asks for the rest
    end,
  })
end

--- Hides the suggestion: accepting with a handler that inserts nothing drops it.
function M.dismiss(bufnr)
  return vim.lsp.inline_completion.get({ bufnr = bufnr or 0, on_accept = function() return nil end })
end

--- The suggestion on screen in the current buffer: { text } or nil (from the extmark).
function M.current()
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then return nil end
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local details = mark[4]
    if details.virt_text then
      local lines = { details.virt_text[1][1] }
      for _, l in ipairs(details.virt_lines or {}) do table.insert(lines, l[1][1]) end
      return { row = mark[2], col = mark[3], text = table.concat(lines, '\n') }
    end
  end
end

return M
