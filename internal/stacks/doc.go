// Package stacks is CloudFormation's stacks: the API's domain (create, update, delete,
// describe, list; authorized and audited here) and the engine that brings each stack's
// resources to its template, on the reconcile runtime, acting as a session of the stack's
// role (or of the caller who asked, when the stack has none).
//
// Invariants:
//   - A stack's row, the stack events its change causes, its work item and the audit record
//     of the call commit in one store transaction.
//   - A stack's status moves only along Status.CanMoveTo (CREATE_IN_PROGRESS → CREATE_COMPLETE
//     | ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE, …); terminal statuses change only by a new
//     operation (UpdateStack, DeleteStack).
//   - Resources are created in the template's dependency order, deleted in the reverse; a
//     resource is marked CREATE_IN_PROGRESS, with the physical name it will get, before its
//     provider is called, so a restarted engine finds and adopts or deletes what it made.
//   - A failed creation rolls back: every resource the stack made is deleted (DeletionPolicy
//     Retain kept) and the stack ends ROLLBACK_COMPLETE. A failed update rolls back to the
//     previous template: resources created or replaced by it are deleted, those updated in place
//     are updated back; UPDATE_ROLLBACK_COMPLETE.
//   - Templates naming a resource type without a provider are refused at CreateStack,
//     UpdateStack and ValidateTemplate, before anything is stored.
package stacks
