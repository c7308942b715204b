-- wrk script: each connection waits 10 ms between requests, so 10 connections
-- offer about 1,000 requests/s (Debian's wrk has no -R rate option).
function delay()
  return 10
end
