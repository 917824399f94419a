package inspector

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// AgentConfig is an agent configuration a call ran with (its call.config
// event), AtMs from the call's start: the first at the start, one more at each
// handoff.
type AgentConfig struct {
	AtMs int64 `json:"at_ms"`
	callevent.CallConfig
}

// CallPage is what /api/calls/{sid} answers: the timeline, the agent
// configurations the call ran with (ConfigRecorded false: the call was logged
// before callagent recorded them) and the replays kept of it, newest last.
type CallPage struct {
	*Timeline
	ConfigRecorded bool           `json:"config_recorded"`
	Configs        []AgentConfig  `json:"configs"`
	Replays        []ReplayResult `json:"replays"`
}

var configType = []byte(`"call.config"`)

// readConfigs reads the call.config events of a call's log, with their times
// from start (the timeline's). Only lines that name the type are decoded: the
// rest of a long call is skipped at the speed of a byte search.
func readConfigs(path string, start time.Time) ([]AgentConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []AgentConfig
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: a frame, skipped, or a configuration with long
			// instructions (its type comes early in the line), read whole.
			keep := bytes.Contains(line, configType)
			var long []byte
			if keep {
				long = append(long, line...)
			}
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				if keep && len(long) < 16<<20 {
					long = append(long, line...)
				}
			}
			line = long
		}
		if bytes.Contains(line, configType) {
			calllog.Read(bytes.NewReader(line), path, func(l calllog.Line, ev callevent.Event) {
				if c, ok := ev.(callevent.CallConfig); ok {
					out = append(out, AgentConfig{AtMs: max(l.Time.Sub(start).Milliseconds(), 0), CallConfig: c})
				}
			}, nil)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}
