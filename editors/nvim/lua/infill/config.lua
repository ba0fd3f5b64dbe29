-- Infill's options: the defaults, and the user's table merged over them.
local M = {}

--- The defaults; `require('infill').setup(opts)` merges `opts` over a copy.
M.defaults = {
  -- The server command (a list): `infill-ls` on PATH, or a path to it.
  cmd = { 'infill-ls' },
  -- Filetypes the server attaches to.
  filetypes = {
    'rust', 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'java',
    'c', 'cpp', 'cs', 'php', 'ruby', 'sh', 'bash',
  },
  -- Server settings, sent as `initializationOptions` (see `:help infill-settings`).
  settings = {},
  -- Shortcut for `settings.model`: a .gguf file or `owner/repo/file.gguf`.
  model = nil,
  -- Show suggestions as ghost text (Neovim 0.10+). Off: only the completion popup.
  ghost_text = true,
  -- Use Neovim 0.12's built-in `vim.lsp.inline_completion` when there is one.
  builtin = true,
  -- Insert-mode keys; `false` leaves one unmapped. `accept` falls back to the key's
  -- own meaning when no suggestion is shown.
  keymaps = { accept = '<Tab>', accept_word = '<M-w>', accept_line = '<M-l>', dismiss = '<C-]>' },
  -- Highlight group of the ghost text.
  hl_group = 'Comment',
}

local function merge(base, over)
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(over or {}) do
    if type(v) == 'table' and type(out[k]) == 'table' and not (vim.islist or vim.tbl_islist)(v) then
      out[k] = merge(out[k], v)
    else
      out[k] = v
    end
  end
  return out
end

--- The options in use (the defaults until setup is called).
M.options = merge(M.defaults, {})

--- Merges the user's options over the defaults and returns them.
function M.set(opts)
  if type(opts) ~= 'table' then opts = {} end
  M.options = merge(M.defaults, opts)
  if type(M.options.cmd) == 'string' then M.options.cmd = { M.options.cmd } end
  if M.options.model then M.options.settings = merge(M.options.settings, { model = M.options.model }) end
  return M.options
end

return M
