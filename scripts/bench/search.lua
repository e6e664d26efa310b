-- wrk script: the company list page with a varying search, signed in with a session cookie.
local queries = { "", "padaria", "sao paulo", "ltda", "11.2", "auto pe", "silva", "12345", "logistica", "curitiba" }
local cookie = os.getenv("OTM_COOKIE") or ""
local i = 0
request = function()
  i = i + 1
  local q = queries[(i % #queries) + 1]
  local path = "/admin/companies?q=" .. q:gsub(" ", "+")
  return wrk.format("GET", path, { ["Cookie"] = cookie })
end
