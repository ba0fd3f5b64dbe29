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

-- The suggestion's text still to be inserted at the cursor (the item repeats what is
-- typed between its range start and the cursor), or nil.
local function remainder(bufnr, item)
  local text = item.insert_text
  if type(text) ~= 'string' then return nil end
  local pos = vim.api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  if item.range then
    local start_row, start_col = item.range:to_extmark()
    if start_row ~= row or start_col > col then return nil end
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
    local typed = line:sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then return nil end
    text = text:sub(#typed + 1)
  end
  return text, row, col
end

--- Accepts the whole suggestion, its next word or its line; false when none is shown.
function M.accept(kind)
  local bufnr = vim.api.nvim_get_current_buf()
  if kind == nil or kind == 'all' then return vim.lsp.inline_completion.get({ bufnr = bufnr }) end
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      local text, row, col = remainder(bufnr, item)
      if text and text ~= '' then pieces.insert(bufnr, row, col, col, pieces.take(text, kind)) end
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
