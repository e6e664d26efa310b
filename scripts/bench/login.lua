-- wrk: signing in through the API (a bcrypt check each time).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"dono@demo.example.com.br","password":"' .. os.getenv("OTM_PASSWORD") .. '"}'
