-- The window rules of ``calendar/windows.py``, in SQL for set-based scheduling. All three
-- are simple STABLE SQL functions, so the planner inlines them into the scheduling query;
-- the tests hold them to the Python rules' answers.
CREATE OR REPLACE FUNCTION autopay_next_open(t timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN c.working AND (t AT TIME ZONE 'Asia/Shanghai')::time < time '22:00'
        THEN greatest(t, (c.day + time '07:00') AT TIME ZONE 'Asia/Shanghai')
        ELSE (n.next_working + time '07:00') AT TIME ZONE 'Asia/Shanghai' END
      FROM calendar_days c JOIN calendar_days n ON n.day = c.day + 1
     WHERE c.day = (t AT TIME ZONE 'Asia/Shanghai')::date
$$;

CREATE OR REPLACE FUNCTION autopay_deadline(issued_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT (c.third_working + time '22:00') AT TIME ZONE 'Asia/Shanghai'
      FROM calendar_days c
     WHERE c.day = (issued_at AT TIME ZONE 'Asia/Shanghai')::date
                   + CASE WHEN (issued_at AT TIME ZONE 'Asia/Shanghai')::time < time '22:00'
                          THEN 0 ELSE 1 END
$$;

CREATE OR REPLACE FUNCTION autopay_window(issued_at timestamptz, notice_s integer,
                                          OUT planned_at timestamptz, OUT deadline timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN w.noticed < w.closes THEN w.noticed
                ELSE autopay_next_open(issued_at) END,
           w.closes
      FROM (SELECT autopay_next_open(issued_at + make_interval(secs => notice_s)) AS noticed,
                   autopay_deadline(issued_at) AS closes) w
$$;
