-- A Callback step's token, beside its step (internal/pipeline): SendPipelineExecutionStepSuccess
-- and SendPipelineExecutionStepFailure find the step waiting for a token through the index
-- instead of reading every step of every running execution. '' for the other steps (and for a
-- callback step before it has published its token). Steps stored before this migration get
-- theirs from their body.
ALTER TABLE pipeline_steps ADD COLUMN callback_token TEXT NOT NULL DEFAULT '';
UPDATE pipeline_steps SET callback_token = COALESCE(json_extract(body, '$.Metadata.Callback.CallbackToken'), '')
    WHERE body LIKE '%"CallbackToken"%';
CREATE INDEX pipeline_steps_callback_token ON pipeline_steps (callback_token) WHERE callback_token <> '';
