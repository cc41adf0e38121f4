package tmpdeps

import (
	_ "github.com/coder/websocket"
	_ "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	_ "github.com/ecabinet/ecabinet/services/platform/tmpdeps"
	_ "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)
