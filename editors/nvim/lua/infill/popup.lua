-- Suggestions in the completion popup, for Neovim without ghost text (0.7 .. 0.9): an
-- omnifunc (<C-x><C-o>) whose items are the suggestion's first line; accepting one
-- inserts its other lines too (complete() cannot insert line breaks).
local server = require('infill.server')

local M = {}

local function word_start(line, col)
  return vim.fn.match(line:sub(1, col), '\\k*$')
end

--- The omnifunc: asks the server and waits for its answer (at most 5 s).
function M.omnifunc(findstart, _)
  local line = vim.api.nvim_get_current_line()
  local col = vim.api.nvim_win_get_cursor(0)[2]
  if findstart == 1 then return word_start(line, col) end
  local client = server.client(0)
  if not client then return {} end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 1 }
  local answers = vim.lsp.buf_request_sync(0, 'textDocument/completion', params, 5000) or {}
  local answer = answers[client.id] and answers[client.id].result
  local items = {}
  for _, item in ipairs(answer and (answer.items or answer) or {}) do
    local text = (item.textEdit and item.textEdit.newText) or item.insertText or item.label
    -- The item's text starts at its range start, which is the word start here.
    local lines = vim.split(text, '\n', { plain = true })
    table.insert(items, {
      word = lines[1],
      abbr = item.label,
      menu = '[Infill]',
      info = text,
      user_data = { infill_rest = #lines > 1 and table.concat(lines, '\n', 2) or nil },
    })
  end
  return items
end

-- After an item is accepted: its lines after the first, at the cursor.
local function insert_rest(rest)
  local pos = vim.api.nvim_win_get_cursor(0)
  local lines = vim.split(rest, '\n', { plain = true })
  local bufnr = vim.api.nvim_get_current_buf()
  local line = vim.api.nvim_get_current_line()
  local after = line:sub(pos[2] + 1)
  vim.api.nvim_buf_set_text(bufnr, pos[1] - 1, pos[2], pos[1] - 1, #line, vim.list_extend({ '' }, lines))
  local last = pos[1] - 1 + #lines
  vim.api.nvim_buf_set_text(bufnr, last, #lines[#lines], last, #lines[#lines], { after })
  vim.api.nvim_win_set_cursor(0, { last + 1, #lines[#lines] })
end

--- Sets the buffer up for popup suggestions.
function M.attach(bufnr)
  vim.api.nvim_create_autocmd('CompleteDone', {
    group = vim.api.nvim_create_augroup('infill.popup.' .. bufnr, { clear = true }),
    buffer = bufnr,
    callback = function()
      local item = vim.v.completed_item
      local rest = type(item) == 'table' and type(item.user_data) == 'table' and item.user_data.infill_rest
      -- (buffer changes are not allowed inside CompleteDone)
      if type(rest) == 'string' then vim.schedule(function() insert_rest(rest) end) end
    end,
  })
end

return M
