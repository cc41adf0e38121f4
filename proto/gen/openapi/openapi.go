// Package openapi holds the OpenAPI (Swagger 2.0) document that
// protoc-gen-openapiv2 writes for every service's REST mapping.
// This file is hand-written; `make proto` regenerates only the JSON.
package openapi

import _ "embed"

// Spec is the merged OpenAPI document for /api/v1.
//
//go:embed ecabinet.swagger.json
var Spec []byte
