# Hantu Quant: one image for the scheduler and the API server (docker-compose.yml runs both + PostgreSQL).
# The same code as the VM install: the package from src/, plus the guide's entry points workflows/ and
# api-server/. No pandas/pyarrow in the image (the long-running processes do not use them).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Seoul \
    HANTU_HOME=/app/data

RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 hantu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --prefer-binary . && rm -rf /root/.cache
COPY workflows ./workflows
COPY api-server ./api-server
RUN mkdir -p /app/data /app/logs && chown -R hantu:hantu /app/data /app/logs

USER hantu
EXPOSE 8000
# The scheduler by default; docker-compose.yml runs the API server from the same image.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "workflows.integrated_scheduler", "start"]
