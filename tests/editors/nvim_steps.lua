-- A small step runner for headless Neovim tests: each step is polled every 50 ms until it
-- returns true (or a string: passed, with a detail) or times out. Results go to stdout as
-- "ok - ..." / "not ok - ..." lines; Neovim quits when the steps are done.
local M = {}

local label = 'nvim ' .. tostring(vim.version().major) .. '.' .. tostring(vim.version().minor)
local steps, failed = {}, false

--- Writes a line to stdout (print() goes to stderr in --headless).
function M.say(line) io.stdout:write(line, '\n') end

--- Records a result.
function M.check(name, ok, detail)
  M.say(string.format('%s - %s: %s%s', ok and 'ok' or 'not ok', label, name, detail and (' (' .. detail .. ')') or ''))
  if not ok then failed = true end
  return ok
end

--- Adds a step: `poll()` returns true / a detail string when done; `timeout` in ms.
--- `checked = false` makes it a set-up step that prints nothing unless it times out.
function M.step(name, poll, timeout, checked)
  table.insert(steps, { name = name, poll = poll, timeout = timeout or 10000, checked = checked ~= false })
end

--- Runs the steps in order; a timed-out step fails and stops the run.
function M.run()
  local i, started = 1, vim.loop.now()
  local function tick()
    local s = steps[i]
    if not s then return vim.cmd(failed and 'cquit 1' or 'qall!') end
    local ok, result = pcall(s.poll)
    if not ok then
      M.check(s.name, false, 'error: ' .. tostring(result))
      return vim.cmd('cquit 1')
    end
    if result then
      if s.checked then M.check(s.name, true, type(result) == 'string' and result or nil) end
      i, started = i + 1, vim.loop.now()
    elseif vim.loop.now() - started > s.timeout then
      M.check(s.name, false, 'timed out after ' .. s.timeout .. ' ms')
      return vim.cmd('cquit 1')
    end
    vim.defer_fn(tick, 50)
  end
  vim.defer_fn(tick, 50)
end

--- Puts the plugin under test ($NVIM_PLUGIN) on the runtime path, with filetype
--- detection on (the plugin starts on FileType) and no swap files.
function M.load_plugin()
  vim.opt.runtimepath:prepend(os.getenv('NVIM_PLUGIN'))
  vim.cmd('filetype on')
  vim.o.swapfile = false
end

--- Types keys as a user would (through mappings).
function M.keys(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'mt', false)
end

return M
