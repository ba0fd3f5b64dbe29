-- The few places where Neovim 0.7 .. 0.12 differ for us, behind one call each.
local M = {}

--- Whether this Neovim is at least `major.minor`.
function M.has(version) return vim.fn.has('nvim-' .. version) == 1 end

--- `major.minor.patch` of this Neovim.
function M.version()
  local v = vim.version()
  return string.format('%d.%d.%d', v.major, v.minor, v.patch)
end

--- Sends a request; returns a function that cancels it, or nil when it was not sent.
function M.request(client, method, params, handler, bufnr)
  local ok, id
  if M.has('0.11') then
    ok, id = client:request(method, params, handler, bufnr)
  else
    ok, id = client.request(method, params, handler, bufnr)
  end
  if not ok then return nil end
  return function()
    if M.has('0.11') then client:cancel_request(id) else client.cancel_request(id) end
  end
end

--- Sends a notification.
function M.notify(client, method, params)
  if M.has('0.11') then return client:notify(method, params) end
  return client.notify(method, params)
end

--- The byte column of LSP `character` in `line` under the client's position encoding.
function M.byte_col(line, character, encoding)
  if encoding == 'utf-8' then return math.min(character, #line) end
  local ok, col
  if M.has('0.11') then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == 'utf-16')
  end
  return ok and col or #line
end

--- Clients attached to a buffer with the given name.
function M.clients(bufnr, name)
  if vim.lsp.get_clients then return vim.lsp.get_clients({ bufnr = bufnr, name = name }) end
  local found = {}
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == name then table.insert(found, client) end
  end
  return found
end

--- The workspace root of a file: the nearest folder holding `.git`, else the file's folder.
function M.root(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  local git = vim.fn.finddir('.git', dir .. ';')
  if git ~= '' then return vim.fn.fnamemodify(git, ':p:h:h') end
  return dir
end

return M
