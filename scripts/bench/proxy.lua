-- wrk: proxied Omie reads through the manager (identical reads: answered from the cache
-- after the first, as Omie itself refuses repeats within 60 s).
local ids = {}
for id in string.gmatch(os.getenv("OTM_COMPANY_IDS"), "[^,]+") do ids[#ids + 1] = id end
local token = os.getenv("OTM_APP_TOKEN")
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/v1/companies/" .. ids[(i % #ids) + 1] .. "/omie/geral/clientes",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    '{"call":"ListarClientes","param":[{"pagina":1}]}')
end
