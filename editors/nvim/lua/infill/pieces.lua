-- Splitting a suggestion for partial accepts: the next word, or the rest of the line.
local M = {}

--- The part of `text` that "accept word" takes: leading blanks and one word or one run
--- of punctuation; at a line break, the break and the next line's indentation.
function M.word(text)
  return text:match('^\n[ \t]*') or text:match('^[ \t]*[%w_]+') or text:match('^[ \t]*[^%w_%s]+') or text:match('^[ \t]+')
    or text
end

--- The part of `text` that "accept line" takes: up to the end of its first line; when the
--- suggestion starts with a line break, the break and the next line.
function M.line(text)
  if text:sub(1, 1) == '\n' then return '\n' .. (text:sub(2):match('^[^\n]*')) end
  return text:match('^[^\n]*')
end

--- The part for `kind` ('all', 'word' or 'line').
function M.take(text, kind)
  if kind == 'word' then return M.word(text) end
  if kind == 'line' then return M.line(text) end
  return text
end

--- Inserts `part` at (row, col) of `bufnr` (0-based, bytes), replacing up to `end_col`
--- on that row, and puts the cursor after it.
function M.insert(bufnr, row, col, end_col, part)
  local lines = vim.split(part, '\n', { plain = true })
  vim.api.nvim_buf_set_text(bufnr, row, col, row, end_col or col, lines)
  local last_row = row + #lines - 1
  local last_col = (#lines == 1 and col or 0) + #lines[#lines]
  local win = vim.fn.bufwinid(bufnr)
  if win ~= -1 then vim.api.nvim_win_set_cursor(win, { last_row + 1, last_col }) end
  return last_row, last_col
end

return M
