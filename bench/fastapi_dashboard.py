"""The peer dashboard service for the benchmark: the reference FastAPI service's four
endpoints (POST/GET/DELETE /report, GET /health), written here the same way (latest
report in memory), served by uvicorn.

  python fastapi_dashboard.py <port>
"""
import sys
from collections import deque
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI()
storage: deque = deque(maxlen=1)


class AnalysisReport(BaseModel):
    report: dict[str, Any] | str


@app.post("/report")
async def receive_report(report: AnalysisReport) -> None:
    storage.append(report)


@app.get("/report", response_model=AnalysisReport)
async def get_report() -> AnalysisReport:
    if storage:
        return storage[0]
    raise HTTPException(status_code=404, detail="No report stored.")


@app.delete("/report")
def clear_storage() -> dict[str, str]:
    storage.clear()
    return {"status": "cleared"}


@app.get("/health")
async def health_check() -> dict[str, Any]:
    return {"status": "healthy", "reports_count": len(storage)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
