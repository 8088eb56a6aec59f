package payment

// Account is a ledger account of a payment.
type Account string

// The ledger accounts of a payment. Every operation is one movement that
// debits one account and credits another with the same amount:
//
//	authorize: debit held,     credit customer
//	capture:   debit merchant, credit held
//	void:      debit customer, credit held
//	refund:    debit customer, credit merchant
//
// So held is what the authorization still holds, merchant what was
// captured and not refunded, and customer the negative of what the
// customer has paid or has held; the three always sum to zero.
const (
	AccountCustomer Account = "customer"
	AccountHeld     Account = "held"
	AccountMerchant Account = "merchant"
)

// Entry is one side of a ledger movement: a debit (positive amount) or a
// credit (negative amount) of an account, caused by an operation.
type Entry struct {
	Operation OperationKind
	Reference string
	Account   Account
	// Amount in minor units: positive for a debit, negative for a credit.
	Amount   int64
	Currency string
}

// movement returns the two entries of an operation.
func movement(op Operation) []Entry {
	var debit, credit Account
	switch op.Kind {
	case OpAuthorize:
		debit, credit = AccountHeld, AccountCustomer
	case OpCapture:
		debit, credit = AccountMerchant, AccountHeld
	case OpVoid:
		debit, credit = AccountCustomer, AccountHeld
	case OpRefund:
		debit, credit = AccountCustomer, AccountMerchant
	default:
		return nil
	}
	a, c := op.Amount.Amount(), op.Amount.Currency()
	return []Entry{
		{Operation: op.Kind, Reference: op.Reference, Account: debit, Amount: a, Currency: c},
		{Operation: op.Kind, Reference: op.Reference, Account: credit, Amount: -a, Currency: c},
	}
}

// Balances sums entries per account and currency.
func Balances(entries []Entry) map[Account]map[string]int64 {
	out := map[Account]map[string]int64{}
	for _, e := range entries {
		if out[e.Account] == nil {
			out[e.Account] = map[string]int64{}
		}
		out[e.Account][e.Currency] += e.Amount
	}
	return out
}

// Totals sums entries per currency; a balanced ledger has 0 for every
// currency.
func Totals(entries []Entry) map[string]int64 {
	out := map[string]int64{}
	for _, e := range entries {
		out[e.Currency] += e.Amount
	}
	return out
}
