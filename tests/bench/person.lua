-- wrk script: one VTJ person query per request, bearer token from the
-- environment (VAYLA_TOKEN). Counts answers that are not 200.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VAYLA_TOKEN")
wrk.body = '{"hetu":"150380-903V","end_user":"bench.user@example.fi",' ..
           '"purpose":"benchmark"}'
