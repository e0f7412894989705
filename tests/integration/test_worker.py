from programme.tasks import ping


def test_a_real_worker_consumes_a_task_from_redis(celery_worker_process):
    result = ping.delay()
    assert result.get(timeout=60) == "pong"
    assert celery_worker_process.poll() is None
