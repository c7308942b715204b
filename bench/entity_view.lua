-- wrk script: GET a random path from a file of paths (one a line), e.g. the entity views of the
-- stored investigations. Each wrk thread reads the file and draws from its own seeded stream.
--   wrk -s entity_view.lua <base url> -- <paths file>
local paths = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  math.randomseed(1000 + id)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
