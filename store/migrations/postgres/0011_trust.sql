-- PostgreSQL form of ../0011_trust.sql. Keep the two in step.

-- Trust between trading coops: the signed form of each agreement.

-- agreement_json is the Agreement as this instance keeps it, with its
-- FEP-8b32 integrity proofs (the accepter's, and the proposer's when it
-- countersigned); '' for agreements made before proofs, or with a peer
-- that sends none.
ALTER TABLE trades ADD COLUMN agreement_json TEXT NOT NULL DEFAULT '';
