# Production image: gunicorn for the web, the same image runs the Celery worker and beat.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_MEDIA_ROOT=/data/media

# WeasyPrint (PDF exports) needs Pango, HarfBuzz and a font with every Vietnamese letter.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 app
WORKDIR /app

COPY pyproject.toml README.md ./
COPY programme programme
COPY communes communes
COPY partners partners
COPY reports reports
RUN pip install .

COPY . .
# collectstatic needs settings but no database or secret of the real deployment.
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build/build \
    python manage.py collectstatic --no-input \
 && mkdir -p /data/media && chown -R app:app /data

USER app
EXPOSE 8000
CMD ["gunicorn", "programme.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
