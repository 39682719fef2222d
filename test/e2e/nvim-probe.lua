-- Headless Neovim (0.7+) as a second real LSP client of kvm-locklint-lsp.
--   nvim --headless --clean -n -c "luafile nvim-probe.lua" FILE.c
-- Env: LSP_CMD (JSON array), LSP_ROOT (workspace root), LSP_TIMEOUT_MS, HOVER_LINE/HOVER_COL (0-based).
-- Prints one JSON line {file, seconds_to_first_diagnostic, diagnostics, hover}; exit 0 iff >= 1 diagnostic.
local t0 = vim.loop.hrtime()
local function out(s) io.stdout:write(s .. '\n') end
local cmd = vim.json.decode(os.getenv('LSP_CMD'))
local timeout = tonumber(os.getenv('LSP_TIMEOUT_MS') or '20000')
local bufnr = vim.api.nvim_get_current_buf()
local fname = vim.api.nvim_buf_get_name(bufnr)
vim.bo[bufnr].filetype = 'c'

local client_id = vim.lsp.start_client({
  name = 'kvm-locklint', cmd = cmd,
  root_dir = os.getenv('LSP_ROOT') or vim.fn.fnamemodify(fname, ':p:h'),
  on_exit = function(code) if code ~= 0 then io.stderr:write('server exited ' .. code .. '\n') end end,
})
if not client_id then out('{"error":"start_client failed"}'); vim.cmd('cquit 2') end
vim.lsp.buf_attach_client(bufnr, client_id)

local got = vim.wait(timeout, function() return #vim.diagnostic.get(bufnr) > 0 end, 20)
local t_diag = (vim.loop.hrtime() - t0) / 1e9
-- the cross-file pass may publish a second, fuller set: give it a moment to settle
vim.wait(1500, function() return false end, 50)
local diags = {}
for _, d in ipairs(vim.diagnostic.get(bufnr)) do
  local lsp = (d.user_data or {}).lsp or {}
  table.insert(diags, { lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
    severity = d.severity, message = d.message, source = d.source, code = d.code or lsp.code })
end
local hover = vim.NIL
local hl, hc = tonumber(os.getenv('HOVER_LINE') or ''), tonumber(os.getenv('HOVER_COL') or '')
if got and hl and hc then
  local res = vim.lsp.buf_request_sync(bufnr, 'textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = hl, character = hc } }, 5000)
  for _, r in pairs(res or {}) do if r.result then hover = r.result.contents end end
end
out(vim.json.encode({ file = fname, seconds_to_first_diagnostic = t_diag, diagnostics = diags, hover = hover }))
vim.lsp.stop_client(client_id)
vim.wait(2000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
if got then vim.cmd('qall!') else vim.cmd('cquit 1') end
