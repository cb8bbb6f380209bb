"""Card payment providers behind one interface (base.PaymentProvider): Stripe and Razorpay. The rest of
the payments code (quotes, events, jobs, relayer, refunds) knows no provider."""
