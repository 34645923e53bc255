-- wrk script: the same VTJ query as an X-Road SOAP envelope, sent straight
-- to vayla-sim (file named by SOAP_FILE).
local f = assert(io.open(os.getenv("SOAP_FILE"), "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=UTF-8"
wrk.headers["SOAPAction"] = '""'
wrk.body = f:read("*a")
f:close()
