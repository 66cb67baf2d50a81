package repository

// LockRetention exposes lockRetention to the tests.
var LockRetention = lockRetention
