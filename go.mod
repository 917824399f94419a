module github.com/callagent/callagent

go 1.26.8

require (
	github.com/coder/websocket v1.8.15
	github.com/spf13/cobra v1.10.2
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
)
