package loadtest

// AgentConfig is the callagent.yaml a server under test runs for a load test
// (`callagent loadtest --print-config`): no greeting, so the caller speaks first;
// server VAD with interrupt_response (the model cancels an answer the caller speaks
// over); the built-in weather tool, which the model calls every ToolEvery turns;
// limits long enough for any run.
const AgentConfig = `# callagent.yaml for a load test (callagent loadtest --print-config).
# The model is the load test's own; it calls the built-in weather tool.
model: gpt-realtime
max_call_duration: 60m
idle_timeout: 10m
agents:
  - name: loadtest
    instructions: You are the agent of a load test. Answer briefly.
    greeting: false
    turn_detection:
      type: server_vad
    transcription: false
    tools: [weather]
tools:
  - builtin: weather
`
