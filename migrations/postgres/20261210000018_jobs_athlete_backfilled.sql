-- `jobs.athlete_id` came in with the athlete tokens (20261207000012) without being filled for
-- the jobs already stored: their athlete was read from the input (`input.athlete.id`) whenever a
-- token asked for a job. It is now read only from the column, which the API fills from the
-- typed input it parsed, so the jobs stored before that migration get theirs here (their lists
-- by athlete missed them until now).
UPDATE jobs SET athlete_id = input -> 'athlete' ->> 'id'
WHERE athlete_id IS NULL AND input -> 'athlete' ->> 'id' IS NOT NULL;
