-- wrk: the client-credentials grant with one application's credentials.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=" .. os.getenv("OTM_CLIENT_ID") .. "&client_secret=" .. os.getenv("OTM_CLIENT_SECRET")
