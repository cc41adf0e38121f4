package tmpdeps

import (
	_ "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	_ "github.com/ecabinet/ecabinet/services/platform/tmpdeps"
)
