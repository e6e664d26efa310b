-- wrk: an application reading Omie credentials of its linked companies, round robin.
local ids = {}
for id in string.gmatch(os.getenv("OTM_COMPANY_IDS"), "[^,]+") do ids[#ids + 1] = id end
local token = os.getenv("OTM_APP_TOKEN")
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/v1/companies/" .. ids[(i % #ids) + 1] .. "/omie-credentials", { ["Authorization"] = "Bearer " .. token })
end
